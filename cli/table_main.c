/*
 * table_main.c: the bulwark-table program; the tool itself is
 * table_tool.c, which bulwarkctl runs as "bulwarkctl table" too.
 */
#include "table_tool.h"

int
main(int argc, char **argv)
{
	return table_tool_main(argc, argv);
}
