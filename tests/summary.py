#!/usr/bin/python3
"""Prints the suite's closing line, "N passed, N failed": the C unit tests
from meson's test log, the end-to-end tests case by case from pytest's
JUnit report. Exits 1 if anything failed or nothing ran."""
import json
import os
import sys
import xml.etree.ElementTree as ET

build = sys.argv[1] if len(sys.argv) > 1 else "build"
passed = failed = skipped = 0

log = os.path.join(build, "meson-logs", "testlog.json")
if os.path.exists(log):
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            if t.get("name") == "e2e":
                continue
            if t["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif t["result"] == "SKIP":
                skipped += 1
            else:
                failed += 1

junit = os.path.join(build, "e2e-junit.xml")
if os.path.exists(junit):
    for case in ET.parse(junit).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
else:
    print("e2e: no report (the suite did not run)")
    failed += 1

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)
