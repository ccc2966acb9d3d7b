"""install-dir.py PREFIX - where the interpreter that runs this script wants the `keel` package
installed for the install prefix PREFIX, asked through its own sysconfig install schemes.

Prints two lines: the directory, and "searched" when the interpreter has that directory on its
module path (so `import keel` works without PYTHONPATH once installed) or "not-searched".

The scheme chosen is the one the interpreter itself installs with for PREFIX: the scheme whose
"data" path (its install prefix) is PREFIX, the interpreter's default scheme first. So Debian's
/usr/bin/python3 gives /usr/local/lib/python3.X/dist-packages for /usr/local (its posix_local
scheme) and /usr/lib/python3/dist-packages for /usr (deb_system); a virtual environment's
interpreter gives its site-packages for the environment's directory; an upstream build gives
PREFIX/lib/python3.X/site-packages for its own prefix. For a prefix no scheme installs to, the
portable posix_prefix layout under PREFIX is used (which the interpreter does not search).
configure runs this with $PYTHON (bindings/python/README.md).
"""
import os
import sys
import sysconfig


def default_scheme():
    if hasattr(sysconfig, "get_default_scheme"):          # 3.10 and later
        return sysconfig.get_default_scheme()
    return sysconfig._get_default_scheme()                 # 3.9


def candidate_schemes():
    names = [default_scheme()]
    for name in sysconfig.get_scheme_names():
        if name.startswith(("posix_", "deb_", "venv")) and name not in names \
                and name not in ("posix_user", "posix_home"):
            names.append(name)
    return names


def install_dir(prefix):
    for scheme in candidate_schemes():
        paths = sysconfig.get_paths(scheme)
        if os.path.normpath(paths["data"]) == prefix:
            return paths["platlib"]
    base = {"base": prefix, "platbase": prefix, "installed_base": prefix,
            "installed_platbase": prefix}
    return sysconfig.get_paths("posix_prefix", vars=base)["platlib"]


def main(argv):
    if len(argv) != 2 or not argv[1].startswith("/"):
        sys.stderr.write("usage: install-dir.py ABSOLUTE-PREFIX\n")
        return 2
    where = os.path.normpath(install_dir(os.path.normpath(argv[1])))
    searched = any(os.path.normpath(p) == where for p in sys.path if p)
    print(where)
    print("searched" if searched else "not-searched")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
