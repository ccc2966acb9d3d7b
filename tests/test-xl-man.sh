#!/bin/sh
# test-xl-man.sh - the manual pages (docs/man): every pod source is well-formed; the built xl.1
# renders with man; `make install` puts the pages where `man xl`, `man xl.cfg`, `man 5 xl.conf`
# find them; and xl.1 stays true to xl: every command of xl's table (read now, from `xl help`),
# every option its help text or usage names and every short option its xl_getopt call parses,
# and every Xen command refused as not meaningful, appears in its section of xl.1.pod, and xl.1
# describes no command xl lacks; every daemon's and tool's -h options are in its page; every
# xl.cfg key liblight reads appears in xl.cfg.5.pod; every program a Makefile.am installs
# (bin/sbin PROGRAMS and SCRIPTS) has a page. No host is started.
B=${KEEL_BUILDDIR:-..}
S=${KEEL_SRCDIR:-$B/..}
if "$B/config.status" --config 2>/dev/null | grep -q enable-sanitizers; then
    echo "1..0 # SKIP in the sanitizer build: it reads pod files and xl help texts, no C code of its own; the plain build runs it"
    exit 0
fi
XL="$B/cli/xl"
export KEEL_XL_CONF=/nonexistent     # the installed xl.conf must not change xl's output
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
tmp=$(mktemp -d /tmp/keel-man-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

bad=""
for f in "$S"/docs/man/*.pod; do
    podchecker "$f" >"$tmp/pc" 2>&1 || bad="$bad $(basename "$f")"
    grep -q "WARNING" "$tmp/pc" && bad="$bad $(basename "$f")(warning)"
done
[ -z "$bad" ]; ok $? "podchecker accepts every page${bad:+ (not:$bad)}"

MANPAGER=cat MANWIDTH=100 man -l "$B/docs/man/xl.1" 2>/dev/null >"$tmp/xl.txt"
grep -q "DOMAIN SUBCOMMANDS" "$tmp/xl.txt" && grep -q "migrate-receive" "$tmp/xl.txt"
ok $? "man -l renders the built xl.1"

make -s -C "$B/docs/man" install mandir="$tmp/man" >"$tmp/inst" 2>&1 || { sed 's/^/# /' "$tmp/inst"; false; }
ok $? "make install puts the pages into a mandir"
man -M "$tmp/man" -w xl 2>/dev/null | grep -q "$tmp/man/man1/xl.1"; ok $? "man xl finds the installed page"
man -M "$tmp/man" -w xl.cfg 2>/dev/null | grep -q "man5/xl.cfg.5"; ok $? "man xl.cfg finds it"
man -M "$tmp/man" -w 5 xl.conf 2>/dev/null | grep -q "man5/xl.conf.5"; ok $? "man 5 xl.conf finds it"
r=0
for p in keel-host.8 keel-domains.8 keeld.8 xl-disk-configuration.5 xl-network-configuration.5; do
    [ -f "$tmp/man/man${p##*.}/$p" ] || { echo "# missing $p"; r=1; }
done
ok $r "keel-host, keel-domains, keeld and the disk/network grammar pages are installed"

# xl's table against xl.1.pod (python3: the parsing)
python3 - "$XL" "$S" "$n" >"$tmp/py" <<'PY'
import re, subprocess, sys, glob
xl, src, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = []
def ok(cond, what):
    global n
    n += 1
    out.append(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))
def run(*a):
    return subprocess.run((xl,) + a, capture_output=True, text=True).stdout
pod = open(src + "/docs/man/xl.1.pod").read().split("\n")
# sections: from "=item B<cmd>..." (a name, not an option) to the next such item or =head1
sections, cur = {}, None
for line in pod:
    m = re.match(r"=item (B<[a-z].*)", line)
    if m or line.startswith("=head1"):
        cur = None
        if m:
            names = re.findall(r"B<([a-z][a-z0-9-]*)>", m.group(1).split(" I<")[0] + " " + m.group(1))
            cur = []
            for nm in re.findall(r"B<([a-z][a-z0-9-]*)>", m.group(1)):
                sections.setdefault(nm, [])
                cur.append(nm)
                break   # the item's first name is its command (others are arguments)
            if ", B<" in m.group(1):     # a list of names (the refused commands)
                for nm in re.findall(r"B<([a-z][a-z0-9-]*)>", m.group(1)):
                    sections.setdefault(nm, [])
                    cur.append(nm)
        continue
    if cur:
        for nm in cur:
            sections[nm].append(line)
help_all = run("help")
cmds, refused, mode = [], [], None
for line in help_all.split("\n"):
    if line.startswith("xl full list of subcommands"): mode = "cmds"; continue
    if "not meaningful" in line: mode = "refused"; continue
    if line.startswith("Not available"): mode = None; continue
    m = re.match(r"^ ([a-z][a-z0-9-]+)\s", line)
    if m and mode == "cmds": cmds.append(m.group(1))
    if m and mode == "refused": refused.append(m.group(1))
ok(len(cmds) >= 40, "xl help lists the command table (%d commands)" % len(cmds))
# short options each command's xl_getopt call parses
getopt = {}
for f in glob.glob(src + "/cli/*.c"):
    for m in re.finditer(r'xl_getopt\(argc, argv, "([^"]*)", "([a-z0-9-]+)"', open(f).read()):
        getopt.setdefault(m.group(2), set()).update("-" + c for c in m.group(1) if c not in ":h")
optre = re.compile(r'(?:^|[\s,\[/<|(])(--?[A-Za-z0-9][A-Za-z0-9_-]*)')
for c in cmds:
    text = "\n".join(sections.get(c, []))
    if c not in sections:
        ok(False, "xl.1 has a section for `%s'" % c)
        continue
    h = run("help", c)
    usage = next((l for l in h.split("\n") if l.startswith("Usage:")), "")
    usage = usage.split(" " + c + " ", 1)[1] if (" " + c + " ") in usage else ""
    body = h.split("Options:", 1)[1] if "Options:" in h else ""
    opts = set(optre.findall(usage)) | set(optre.findall(body)) | getopt.get(c, set())
    opts = {o for o in opts if o not in ("-h", "--help")} 
    missing = sorted(o for o in opts if not re.search(r"B<" + re.escape(o) + r"[>=]", text))
    ok(not missing, "xl.1 documents `%s'%s%s" % (c, " and its options " + " ".join(sorted(opts)) if opts else "",
                                              " (missing: %s)" % " ".join(missing) if missing else ""))
stale = sorted(c for c in sections if c not in cmds and c not in refused)
ok(not stale, "every command xl.1 describes exists in xl's table or is refused%s" %
   (" (not in xl: %s)" % " ".join(stale) if stale else ""))
miss = [c for c in refused if c not in sections]
ok(refused and not miss, "xl.1 lists the %d Xen commands refused as not meaningful%s" %
   (len(refused), " (missing: %s)" % " ".join(miss) if miss else ""))
keys = re.search(r"keel_keys\[\] = \{(.*?)NULL", open(src + "/liblight/config/convert_keys.c").read(), re.S)
keys = re.findall(r'"([a-z_]+)"', keys.group(1)) if keys else []
cfg = open(src + "/docs/man/xl.cfg.5.pod").read()
miss = [k for k in keys if not re.search(r"B<" + k + r"[>=+]", cfg)]
ok(keys and not miss, "xl.cfg.5 documents the %d keys liblight reads%s" % (len(keys), " (missing: %s)" % " ".join(miss) if miss else ""))
# the daemons' and tools' own options (their -h text) in their pages
tools = [("hypervisor/keel-hv", "keel-hv.8"), ("daemons/store/keel-stored", "keel-stored.8"),
         ("daemons/console/keel-consoled", "keel-consoled.8"), ("daemons/console/keel-console", "keel-console.1"),
         ("daemons/blkback/keel-blkback", "keel-blkback.8"), ("daemons/netback/keel-netback", "keel-netback.8"),
         ("daemons/vtpm/keel-vtpmd", "keel-vtpmd.8"), ("daemons/keeld/keeld", "keeld.8"),
         ("cli/keel-boot", "keel-boot.1"), ("cli/keel-access", "keel-access.1"), ("policy/keel-policyc", "keel-policyc.1")]
bdir = xl.rsplit("/cli/", 1)[0]
for prog, page in tools:
    try:
        r = subprocess.run([bdir + "/" + prog, "-h"], capture_output=True, text=True, timeout=20)
        h = r.stdout + r.stderr
    except OSError as e:
        ok(False, "%s -h runs (%s)" % (prog, e)); continue
    text = open(src + "/docs/man/%s.pod" % page).read()
    opts = {o for o in optre.findall(h) if o not in ("-h", "--help")}
    missing = sorted(o for o in opts if not re.search(r"B<" + re.escape(o) + r"[>=]", text))
    ok(opts and not missing, "%s documents %s's options %s%s" % (page, prog.split("/")[-1], " ".join(sorted(opts)),
                                                   " (missing: %s)" % " ".join(missing) if missing else ""))
progs = set()
for f in glob.glob(src + "/**/Makefile.am", recursive=True) + glob.glob(src + "/**/*.am", recursive=True):
    if "/build/" in f[len(src):] or "/autom4te" in f:
        continue
    text = re.sub(r"\\\n", " ", open(f).read())
    for m in re.finditer(r"^(?:s?bin)_(?:PROGRAMS|SCRIPTS)[ \t]*\+?=[ \t]*(.*)$", text, re.M):
        progs.update(w.split("/")[-1] for w in m.group(1).split() if not w.startswith("$(") or "/" in w)
progs = {p for p in progs if p and not p.startswith("$")}
miss = sorted(p for p in progs if not glob.glob(src + "/docs/man/%s.[158].pod" % p))
ok(progs and not miss, "every installed program has a man page (%s)%s" % (" ".join(sorted(progs)),
   " (missing: %s)" % " ".join(miss) if miss else ""))
print("\n".join(out))
print("COUNT %d" % n)
PY
grep -v '^COUNT' "$tmp/py"
failed=$((failed + $(grep -c "^not ok" "$tmp/py")))
n=$(sed -n 's/^COUNT //p' "$tmp/py")
[ -n "$n" ] || { echo "not ok - the table check ran"; exit 1; }
echo "1..$n"
[ "$failed" -eq 0 ]
