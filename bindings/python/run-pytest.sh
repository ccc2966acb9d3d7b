#!/bin/sh
# run-pytest.sh - runs the pytest suite (tests/test_*.py) against the keel._keel module just
# built (not an installed one) and prints one TAP line per pytest test, read from the JUnit XML
# pytest writes. The package is staged in a temporary directory: keel/__init__.py from the
# source tree and the built module from .libs. In a sanitizer build the module needs the ASan
# runtime first in the process, so it is preloaded into the interpreter; LeakSanitizer then
# reports at exit, and since the interpreter itself never frees everything, the report is
# filtered: one more TAP line says that no leaked block was allocated by the module or the
# Keel libraries (allocations made once by the module's initialisation, PyInit__keel, are
# interpreter-lifetime type objects and do not count).
set -u
: "${PYTHON:?}" "${KPY_MODULE_DIR:?}" "${KPY_PACKAGE_DIR:?}" "${KEEL_BUILDDIR:?}" "${KEEL_SRCDIR:?}"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/keel-pytest-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
suffix=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
mkdir "$tmp/keel"
ln -s "$KPY_PACKAGE_DIR/__init__.py" "$tmp/keel/__init__.py"
ln -s "$KPY_MODULE_DIR/_keel$suffix" "$tmp/keel/_keel$suffix"
b=$KEEL_BUILDDIR
LD_LIBRARY_PATH="$b/liblight/.libs:$b/libguest/.libs:$b/libctrl/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PYTHONPATH="$tmp${PYTHONPATH:+:$PYTHONPATH}"
PYTHONDONTWRITEBYTECODE=1
export LD_LIBRARY_PATH PYTHONPATH PYTHONDONTWRITEBYTECODE
pre=""
for lib in libasan libubsan; do
    p=$(LD_LIBRARY_PATH="$LD_LIBRARY_PATH" ldd "$KPY_MODULE_DIR/_keel$suffix" 2>/dev/null |
        awk -v l="$lib" '$1 ~ "^" l "\\.so" { print $3 }')
    [ -n "$p" ] && pre="$pre${pre:+ }$p"
done
if [ -n "$pre" ]; then
    export LD_PRELOAD="$pre"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
    echo "# sanitizer build: LD_PRELOAD=$pre ASAN_OPTIONS=$ASAN_OPTIONS" >&2
fi
cd "$tmp" || exit 1
"$PYTHON" -m pytest -p no:cacheprovider -rA -v --junitxml="$tmp/junit.xml" \
    "$here/tests" >&2 2>"$tmp/stderr"
rc=$?
cat "$tmp/stderr" >&2
env -u LD_PRELOAD "$PYTHON" - "$tmp/junit.xml" "$rc" "$tmp/stderr" "$pre" <<'PY'
import re, sys, xml.etree.ElementTree as ET
path, rc, errlog, sanitized = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
n = bad = 0
def line(ok, what, extra=""):
    global n, bad
    n += 1
    bad += not ok
    print(("ok" if ok else "not ok") + " %d - %s%s" % (n, what, extra))
try:
    cases = ET.parse(path).getroot().iter("testcase")
except (OSError, ET.ParseError) as e:
    cases = []
    line(False, "pytest wrote its JUnit report (%s)" % e)
for c in cases:
    name = "%s::%s" % (c.get("classname", ""), c.get("name", ""))
    if c.find("failure") is not None or c.find("error") is not None:
        line(False, name)
    elif c.find("skipped") is not None:
        s = c.find("skipped")
        line(True, name, " # SKIP " + (s.get("message") or "skipped").replace("\n", " "))
    else:
        line(True, name)
if n == 0:
    line(False, "pytest collected tests")
if sanitized:
    log = open(errlog, errors="replace").read()
    ours = [b for b in re.split(r"\n(?=(?:Direct|Indirect) leak of )", log)
            if re.match(r"(Direct|Indirect) leak of ", b)
            and re.search(r"kpy_|_keel|libkeel|/liblight/|/libguest/|/libctrl/", b)
            and "PyInit__keel" not in b]
    for b in ours:
        sys.stderr.write("# leak from Keel code:\n" + b + "\n")
    line(not ours, "LeakSanitizer: no block leaked by keel._keel or the Keel libraries "
         "(%d leak reports in all, %d ours)" % (log.count(" leak of "), len(ours)))
    if "ERROR: AddressSanitizer" in log or "runtime error:" in log:
        line(False, "no AddressSanitizer or UBSan error")
    if rc in (1, 23) and bad == 0 and "ERROR: LeakSanitizer" in log:
        rc = 0      # LeakSanitizer's exit status for the interpreter's own leaks
if rc not in (0, 1) or (rc == 1 and bad == 0):
    line(False, "pytest exited with status %d" % rc)
print("1..%d" % n)
sys.exit(1 if bad else 0)
PY
