/*
 * table_tool.h: bulwark-table(8)'s command line, shared by the
 * bulwark-table program (table_main.c) and "bulwarkctl table".
 */
#ifndef BULWARK_TABLE_TOOL_H
#define BULWARK_TABLE_TOOL_H

/* argv[1] is the command ("build", "get"); returns the exit status. */
int	table_tool_main(int argc, char **argv);

#endif
