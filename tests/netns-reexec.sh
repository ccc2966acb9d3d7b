# netns-reexec.sh - sourced first by a test that needs a network namespace of its own: unless it
# already runs in one (KEEL_NETNS set), netns_reexec creates PREFIX-PID, runs the test again
# inside it with KEEL_NETNS naming it, deletes it and exits with the test's status. Where no
# namespace can be made (not root, no iproute2) the test is reported as one skipped check.
netns_reexec() { # PREFIX WHAT SCRIPT [ARGS...]
    [ -n "${KEEL_NETNS:-}" ] && return 0
    _nr_ns="$1-$$" _nr_what=$2
    shift 2
    if ! ip netns add "$_nr_ns" 2>/dev/null; then
        echo "ok 1 - $_nr_what # SKIP cannot create a network namespace (root and iproute2 needed)"
        echo "1..1"
        exit 0
    fi
    KEEL_NETNS=$_nr_ns ip netns exec "$_nr_ns" sh "$@"
    _nr_rc=$?
    ip netns del "$_nr_ns"
    exit $_nr_rc
}
