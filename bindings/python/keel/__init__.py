"""keel - Keel's toolstack API (liblight) for Python.

    import keel
    with keel.Context() as ctx:                     # $KEEL_RUNDIR, or Context("/run/keel")
        cfg = keel.DomainConfig.from_file("guest.cfg")
        domid = ctx.create(cfg)
        for d in ctx.list():
            print(d.domid, d.name, d.state)
        ctx.shutdown(domid)

Everything is implemented by the extension module keel._keel (C, over libkeellight); this
file re-exports it and adds a few conveniences written in Python. Failures raise keel.Error
(an OSError: .errno, .strerror = liblight's message); invalid configurations raise
keel.ConfigError (a keel.Error with .diagnostics, .errors, .file, .line, .column).
"""
import os as _os

from ._keel import (  # noqa: F401  (re-exported API)
    Context,
    DomainConfig,
    DomainInfo,
    DeathWatch,
    Diagnostic,
    Error,
    ConfigError,
    SHUTDOWN_POWEROFF,
    SHUTDOWN_REBOOT,
    SHUTDOWN_SUSPEND,
    SHUTDOWN_CRASH,
    SHUTDOWN_WATCHDOG,
    DOMID_INVALID,
)

__all__ = [
    "Context", "DomainConfig", "DomainInfo", "DeathWatch", "Diagnostic", "Error", "ConfigError",
    "SHUTDOWN_POWEROFF", "SHUTDOWN_REBOOT", "SHUTDOWN_SUSPEND", "SHUTDOWN_CRASH",
    "SHUTDOWN_WATCHDOG", "DOMID_INVALID", "open", "config_from_text", "config_from_file",
    "config_from_dict", "shutdown_reason_name",
]

_REASONS = {
    SHUTDOWN_POWEROFF: "poweroff",
    SHUTDOWN_REBOOT: "reboot",
    SHUTDOWN_SUSPEND: "suspend",
    SHUTDOWN_CRASH: "crash",
    SHUTDOWN_WATCHDOG: "watchdog",
}


def open(rundir=None):  # noqa: A001  (keel.open, like os.open: the module's own namespace)
    """A Context on rundir (None: $KEEL_RUNDIR, else /run/keel)."""
    return Context(rundir if rundir is None else _os.fspath(rundir))


def config_from_text(text, source="<string>", overrides=(), strict=False):
    """DomainConfig.from_text: xl.cfg text (plus 'key=value' overrides)."""
    return DomainConfig.from_text(text, source, overrides, strict)


def config_from_file(path, overrides=(), strict=False):
    """DomainConfig.from_file: an xl.cfg file (plus 'key=value' overrides)."""
    return DomainConfig.from_file(path, overrides, strict)


def config_from_dict(d):
    """DomainConfig.from_dict: a dict of libxl_domain_config's JSON shape."""
    return DomainConfig.from_dict(d)


def shutdown_reason_name(reason):
    """'poweroff', 'reboot', 'suspend', 'crash', 'watchdog' for a SHUTDOWN_* value; None for None."""
    if reason is None:
        return None
    return _REASONS.get(reason, "unknown(%d)" % reason)
