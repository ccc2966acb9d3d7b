"""kpyhost - a private Keel host for the tests: keel-hv and keel-stored of the build tree
($KEEL_BUILDDIR) started by scripts/keel-host ($KEEL_SRCDIR) in a fresh runtime directory,
stopped and removed by stop() (as tests/xl-lib.sh does for the shell tests)."""
import os
import shutil
import subprocess
import tempfile


class Host:
    def __init__(self):
        self.builddir = os.environ["KEEL_BUILDDIR"]
        self.srcdir = os.environ["KEEL_SRCDIR"]
        self.rundir = tempfile.mkdtemp(prefix="keel-pytest-")
        self.env = dict(os.environ, KEEL_RUNDIR=self.rundir,
                        KEEL_HV=os.path.join(self.builddir, "hypervisor", "keel-hv"),
                        KEEL_STORED=os.path.join(self.builddir, "daemons", "store", "keel-stored"))
        self.env.pop("LD_PRELOAD", None)   # the daemons are programs of their own

    def _keel_host(self, what):
        return subprocess.run(["sh", os.path.join(self.srcdir, "scripts", "keel-host"), what],
                              env=self.env, capture_output=True, text=True, timeout=60)

    def start(self):
        r = self._keel_host("start")
        if r.returncode != 0:
            self.stop()
            raise RuntimeError("keel-host start failed: %s%s" % (r.stdout, r.stderr))

    def stop(self):
        if self.rundir and os.path.isdir(self.rundir):
            self._keel_host("stop")
            shutil.rmtree(self.rundir, ignore_errors=True)
        self.rundir = None

    def guest(self, name):
        return os.path.join(self.builddir, "guests", name)

    def counter_cfg(self, name, interval=50, extra=""):
        """xl.cfg text of the counter guest printing every interval ms."""
        return ('name = "%s"\ntype = "pvh"\nkernel = "%s"\nmemory = 16\nmaxmem = 24\nvcpus = 1\n'
                'cmdline = "interval=%d"\n%s' % (name, self.guest("counter"), interval, extra))
