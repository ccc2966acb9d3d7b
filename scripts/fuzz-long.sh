#!/bin/sh
# fuzz-long.sh - long libFuzzer runs of every Keel fuzz target under ASan+UBSan, outside CI.
#
# Builds (or reuses) a clang fuzzing build (CC=clang --enable-fuzzing --enable-sanitizers) in the
# build directory given (default build/fuzz), then runs each libFuzzer binary of the table below
# for -runs=N or -max_total_time=S, whichever comes first, at nice 19, one after another or K at a
# time. Each target starts from a copy of its in-tree corpus (the one `make check` replays) in a
# work corpus under the output directory, with its dictionary and -max_len when it has them.
# It records per target the executions, time, exec/s, new corpus units, coverage (cov:/ft: of the
# last stats line) and the result (clean, crash, leak, timeout, oom with the artifact path, or
# not-built) into a table printed at the end and OUT/results.json; artifacts stay in OUT/artifacts.
# --merge (or --merge-only, after a run) adds the new inputs that give new coverage (libFuzzer -merge=1, small files only, a byte
# and file budget per target) to the in-tree corpora so that `make check` replays them in every build.
# Exit status: 0 when every target ran clean, 1 otherwise, 2 on a usage or build error.
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
runs=10000000
max_time=3600
jobs=1
only=
merge=0
merge_file_max=2048
merge_budget=8192
merge_files=50
fuzz=1
timeout=25
rss=2048
build=1
builddir=
out=

usage() {
    cat <<EOF
usage: scripts/fuzz-long.sh [options] [BUILDDIR]

Runs every libFuzzer target for --runs executions or --time seconds, whichever comes first.
BUILDDIR (default build/fuzz) is configured with CC=clang --enable-fuzzing --enable-sanitizers
when it has no Makefile, then built with make (unless --no-build).

  --time S            seconds per target (default $max_time)
  --runs N            executions per target (default $runs)
  --only a,b          run only these targets (names below)
  -j K                run K targets at a time (default $jobs)
  --merge             merge new coverage into the in-tree corpora (files of at most
                      --merge-file-max bytes, at most --merge-budget bytes per target)
  --merge-only        no fuzzing: merge the work corpora of an earlier run in --out
  --merge-file-max B  largest file merged (default $merge_file_max)
  --merge-budget B    bytes added per target at most (default $merge_budget)
  --merge-files N     files added per target at most (default $merge_files)
  --timeout S         libFuzzer -timeout per input (default $timeout)
  --rss MB            libFuzzer -rss_limit_mb (default $rss)
  --out DIR           results, logs, work corpora, artifacts (default BUILDDIR/fuzz-long)
  --no-build          use the binaries as they are
  --list              print the targets and exit
  --help              this text

Targets:
EOF
    table | awk '{ printf "  %-16s %s\n", $1, $2 }'
}

# name  source  binary (in BUILDDIR)  corpus (in the source tree)  dictionary  max_len
# (- when none). The corpus is the one the directory's `make check` replays.
table() {
    cat <<'EOF'
guest-elf       libguest/fuzz/fuzz-elf.c                 libguest/fuzz/fuzz-elf                     libguest/fuzz/corpus-elf            -                     -
stream-reader   libguest/stream/fuzz/fuzz-reader.c       libguest/stream/fuzz/libfuzzer-reader      libguest/stream/fuzz/corpus-reader  -                     20000
stream-writer   libguest/stream/fuzz/fuzz-writer.c       libguest/stream/fuzz/libfuzzer-writer      libguest/stream/fuzz/corpus-writer  -                     -
stream-xlhdr    libguest/stream/fuzz/fuzz-xlhdr.c        libguest/stream/fuzz/libfuzzer-xlhdr       libguest/stream/fuzz/corpus-xlhdr   -                     -
policy-parse    policy/fuzz/fuzz-policy-parse.c          policy/fuzz-policy-parse-lf                policy/fuzz/corpus-parse            -                     -
policy-load     policy/fuzz/fuzz-policy-load.c           policy/fuzz-policy-load-lf                 policy/fuzz/corpus-load             -                     -
store-proto     daemons/store/fuzz/fuzz-proto.c          daemons/store/fuzz/libfuzzer-proto         daemons/store/fuzz/corpus-proto     -                     4096
store-ring      daemons/store/fuzz/fuzz-ring.c           daemons/store/fuzz/libfuzzer-ring          daemons/store/fuzz/corpus-ring      -                     2200
console-ring    daemons/console/fuzz/fuzz-cons-ring.c    daemons/console/fuzz/libfuzzer-cons-ring   daemons/console/fuzz/corpus         -                     4200
console-xs      daemons/console/fuzz/fuzz-cons-xs.c      daemons/console/fuzz/libfuzzer-cons-xs     daemons/console/fuzz/corpus-xs      -                     8300
keeld-req       daemons/keeld/fuzz/fuzz-req.c            daemons/keeld/fuzz/fuzz-req                daemons/keeld/fuzz/corpus           -                     -
keeld-wire      daemons/keeld/fuzz/fuzz-wire.c           daemons/keeld/fuzz/fuzz-wire               daemons/keeld/fuzz/corpus-wire      -                     -
blkback-parse   daemons/blkback/fuzz/fuzz-parse.c        daemons/blkback/fuzz/libfuzzer-parse       daemons/blkback/fuzz/corpus         -                     -
netback-tx      daemons/netback/fuzz/fuzz-txparse.c      daemons/netback/fuzz/libfuzzer-txparse     daemons/netback/fuzz/corpus         -                     -
vtpm-req        daemons/vtpm/fuzz/fuzz-req.c             daemons/vtpm/fuzz/libfuzzer-req            daemons/vtpm/fuzz/corpus-req        -                     -
vtpm-state      daemons/vtpm/fuzz/fuzz-state.c           daemons/vtpm/fuzz/libfuzzer-state          daemons/vtpm/fuzz/corpus-state      -                     -
light-cfg       liblight/fuzz/fuzz-cfg.c                 liblight/fuzz/libfuzzer-cfg                liblight/fuzz/corpus-cfg            -                     -
light-json      liblight/fuzz/fuzz-json.c                liblight/fuzz/libfuzzer-json               liblight/fuzz/corpus-json           -                     -
light-xml       liblight/fuzz/fuzz-xml.c                 liblight/fuzz/libfuzzer-xml                liblight/fuzz/corpus-xml            liblight/fuzz/xml.dict 8192
light-xsreply   liblight/fuzz/fuzz-xsreply.c             liblight/fuzz/libfuzzer-xsreply            liblight/fuzz/corpus-xsreply        -                     -
light-zimage    liblight/fuzz/fuzz-zimage.c              liblight/fuzz/libfuzzer-zimage             liblight/fuzz/corpus-zimage         -                     -
EOF
}

die() { echo "fuzz-long: $*" >&2; exit 2; }

need_arg() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
        --time) need_arg "$@"; max_time=$2; shift ;;
        --runs) need_arg "$@"; runs=$2; shift ;;
        --only) need_arg "$@"; only=$2; shift ;;
        -j) need_arg "$@"; jobs=$2; shift ;;
        -j[0-9]*) jobs=${1#-j} ;;
        --merge) merge=1 ;;
        --merge-only) merge=1 fuzz=0 build=0 ;;
        --merge-file-max) need_arg "$@"; merge_file_max=$2; shift ;;
        --merge-budget) need_arg "$@"; merge_budget=$2; shift ;;
        --merge-files) need_arg "$@"; merge_files=$2; shift ;;
        --timeout) need_arg "$@"; timeout=$2; shift ;;
        --rss) need_arg "$@"; rss=$2; shift ;;
        --out) need_arg "$@"; out=$2; shift ;;
        --no-build) build=0 ;;
        --list) table | awk '{ print $1 }'; exit 0 ;;
        --help|-h) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$builddir" ] || die "one build directory only"; builddir=$1 ;;
        esac
        shift
    done
    for v in "$max_time" "$runs" "$jobs" "$timeout" "$rss" "$merge_file_max" "$merge_budget" "$merge_files"; do
        case $v in ''|*[!0-9]*) die "not a number: '$v'" ;; esac
    done
    [ "$jobs" -ge 1 ] || die "-j needs at least 1"
}

# Configures BUILDDIR as a clang fuzzing build if it is not configured yet, then makes it.
prepare_build() {
    mkdir -p "$builddir" || die "cannot create $builddir"
    builddir=$(cd "$builddir" && pwd)
    if [ ! -f "$builddir/Makefile" ]; then
        [ -x "$src/configure" ] || (cd "$src" && autoreconf -fi >/dev/null) || die "autoreconf failed"
        echo "fuzz-long: configuring $builddir (CC=clang --enable-fuzzing --enable-sanitizers)"
        (cd "$builddir" && CC=clang "$src/configure" --enable-silent-rules --enable-fuzzing \
            --enable-sanitizers >configure.out 2>&1) || { tail -20 "$builddir/configure.out"; die "configure failed"; }
    fi
    grep -q -- '--enable-fuzzing' "$builddir/config.status" 2>/dev/null ||
        die "$builddir is not configured with --enable-fuzzing (CC=clang)"
    grep -q -- '--enable-sanitizers' "$builddir/config.status" ||
        echo "fuzz-long: warning: $builddir is not configured with --enable-sanitizers" >&2
    [ "$build" = 1 ] || return 0
    echo "fuzz-long: building in $builddir (make -k, nice 19; log $builddir/fuzz-long-make.log)"
    # -k: a target whose directory fails to build is reported as not built, the others still run
    nice -n 19 make -k -j"${KEEL_MAKE_JOBS:-2}" -C "$builddir" >"$builddir/fuzz-long-make.log" 2>&1 ||
        echo "fuzz-long: warning: the build had errors (see fuzz-long-make.log); targets not built are reported" >&2
}

# The selected rows of the table, in table order; an unknown --only name is an error.
selected() {
    if [ -z "$only" ]; then
        table
        return
    fi
    for n in $(echo "$only" | tr ',' ' '); do
        table | awk -v n="$n" '$1 == n { f = 1 } END { exit !f }' || die "unknown target '$n' (see --list)"
    done
    table | awk -v l=",$only," 'index(l, "," $1 ",")'
}

# Fuzz sources in the tree and libFuzzer binaries in the build that the table does not know:
# reported as results ("unlisted"), so a new target cannot be skipped silently.
check_unlisted() {
    find "$src" -path "$src/build" -prune -o -path "$src/.git" -prune -o -name 'fuzz-*.c' -print |
    while read -r f; do
        rel=${f#"$src"/}
        [ "$rel" = common/fuzz-main.c ] && continue
        table | awk -v s="$rel" '$2 == s { f = 1 } END { exit !f }' ||
            record "${rel}" unlisted "source not in scripts/fuzz-long.sh's table" - - - - - - - - -
    done
    find "$builddir" -path "$out" -prune -o -type f -perm -u+x -name '*fuzz*' ! -name '*.sh' \
        ! -name 'lt-*' ! -path '*/.libs/*' -print 2>/dev/null |
    while read -r f; do
        rel=${f#"$builddir"/}
        table | awk -v b="$rel" '$3 == b { f = 1 } END { exit !f }' && continue
        is_libfuzzer "$f" || continue
        record "$rel" unlisted "libFuzzer binary not in scripts/fuzz-long.sh's table" - - - - - - - - -
    done
}

# The real ELF file of a program (libtool puts it in .libs/ when the program links a shared
# library of the tree).
real_binary() {
    d=$(dirname "$1"); b=$(basename "$1")
    if [ -f "$d/.libs/$b" ]; then echo "$d/.libs/$b"; else echo "$1"; fi
}

is_libfuzzer() {
    nm "$(real_binary "$1")" 2>/dev/null | grep -q 'LLVMFuzzerRunDriver\|_ZN6fuzzer6Fuzzer'
}

# Which sanitizers the binary carries: asan+ubsan, asan, ubsan or none.
sanitizers() {
    syms=$(nm "$(real_binary "$1")" 2>/dev/null)
    a=; u=
    printf '%s\n' "$syms" | grep -q '__asan_init' && a=asan
    printf '%s\n' "$syms" | grep -q '__ubsan_handle_' && u=ubsan
    if [ -n "$a" ] && [ -n "$u" ]; then echo asan+ubsan; else echo "${a:-}${u:-}" | sed 's/^$/none/'; fi
}

# record NAME RESULT NOTE EXECS SECS EXEC/S NEW COV FT ARTIFACT SAN LOG: one result line
# (with the time it was recorded).
record() {
    mkdir -p "$out/res"
    f=$(echo "$1" | tr '/' '_')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out/res/$f.tsv"
}

count_files() { find "$1" -type f | wc -l | tr -d ' '; }

# The last value of a libFuzzer "stat::KEY:" final-stats line, or -.
final_stat() {
    v=$(sed -n "s/^stat::$2: *//p" "$1" | tail -1)
    echo "${v:--}"
}

# Classifies a finished run from its exit status and log.
classify() {
    rc=$1 log=$2
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then echo timeout
    elif grep -q 'out-of-memory\|ERROR: libFuzzer: fuzz target exited' "$log"; then
        grep -q 'out-of-memory' "$log" && echo oom || echo crash
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then echo leak
    elif grep -q 'ERROR: AddressSanitizer\|runtime error:\|deadly signal\|ERROR: UndefinedBehaviorSanitizer' "$log"; then echo crash
    elif [ "$rc" -eq 0 ]; then echo clean
    else echo "error-rc$rc"
    fi
}

# run_target NAME SOURCE BINARY CORPUS DICT MAXLEN: one libFuzzer run, recorded.
run_target() {
    name=$1 bin=$builddir/$3 corpus=$src/$4 dict=$5 maxlen=$6
    if [ ! -x "$bin" ]; then
        record "$name" not-built "$3 missing in $builddir" - - - - - - - - -
        echo "fuzz-long: $name: NOT BUILT ($bin missing)"
        return
    fi
    san=$(sanitizers "$bin")
    work=$out/corpus/$name art=$out/artifacts/$name log=$out/logs/$name.log
    rm -rf "$work"                                # artifacts of earlier runs are kept
    mkdir -p "$work" "$art" "$out/logs"
    cp "$corpus"/* "$work"/ 2>/dev/null || echo "fuzz-long: $name: warning: empty in-tree corpus $corpus" >&2
    n0=$(count_files "$work")
    set -- -runs="$runs" -max_total_time="$max_time" -timeout="$timeout" -rss_limit_mb="$rss" \
        -print_final_stats=1 -artifact_prefix="$art/"
    [ "$dict" = - ] || set -- "$@" -dict="$src/$dict"
    [ "$maxlen" = - ] || set -- "$@" -max_len="$maxlen"
    echo "fuzz-long: $name: start $(date +%H:%M:%S) ($san, $n0 seeds, log $log)"
    t0=$(date +%s)
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        nice -n 19 "$bin" "$@" "$work" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    result=$(classify "$rc" "$log")
    artifact=$(sed -n 's/.*[Tt]est unit written to \(.*\)$/\1/p' "$log" | tail -1)
    last=$(grep ' cov: ' "$log" | tail -1)
    cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    execs=$(final_stat "$log" number_of_executed_units)
    eps=$(final_stat "$log" average_exec_per_sec)
    new=$(final_stat "$log" new_units_added)
    record "$name" "$result" "$(count_files "$work") files in work corpus" "$execs" "$secs" \
        "$eps" "$new" "${cov:--}" "${ft:--}" "${artifact:--}" "$san" "$log"
    echo "fuzz-long: $name: $result after ${secs}s, $execs runs, $eps exec/s, cov ${cov:--}, ft ${ft:--}${artifact:+, artifact $artifact}"
}

# merge_target NAME SOURCE BINARY CORPUS DICT MAXLEN: the work corpus's new coverage, as small
# files, into the in-tree corpus (libFuzzer -merge=1 picks the inputs that add features over
# the in-tree files; a spread over their sizes is kept, smallest first, within the byte and file
# budgets).
merge_target() {
    name=$1 bin=$builddir/$3 corpus=$src/$4 maxlen=$6
    work=$out/corpus/$name mdir=$out/merge/$name
    [ -x "$bin" ] && [ -d "$work" ] || return 0
    rm -rf "$mdir"; mkdir -p "$mdir/small" "$mdir/into"
    cp "$corpus"/* "$mdir/into"/ 2>/dev/null
    find "$work" -type f -size -"$((merge_file_max + 1))"c -exec cp {} "$mdir/small"/ \;
    set -- -merge=1 -timeout="$timeout" -rss_limit_mb="$rss"
    [ "$maxlen" = - ] || set -- "$@" -max_len="$maxlen"
    nice -n 19 "$bin" "$@" "$mdir/into" "$mdir/small" >"$out/logs/$name.merge.log" 2>&1 ||
        { echo "fuzz-long: $name: merge failed (see $out/logs/$name.merge.log)"; return 0; }
    added=0 bytes=0
    for p in "$mdir/into"/*; do
        f=${p##*/}
        [ -e "$corpus/$f" ] || [ ! -f "$p" ] || echo "$(wc -c <"$p" | tr -d ' ') $f"
    done | sort -n >"$mdir/all.txt"
    # a spread over the sizes (every k-th by size, so that at most --merge-files remain)
    awk -v m="$merge_files" -v n="$(wc -l <"$mdir/all.txt")" \
        'BEGIN { k = n > m ? int((n + m - 1) / m) : 1 } (NR - 1) % k == 0' "$mdir/all.txt" >"$mdir/new.txt"
    while read -r size f; do
        if [ $((bytes + size)) -gt "$merge_budget" ] || [ "$added" -ge "$merge_files" ]; then break; fi
        cp "$mdir/into/$f" "$corpus/$f" && added=$((added + 1)) bytes=$((bytes + size))
    done <"$mdir/new.txt"
    echo "fuzz-long: $name: merged $added of $(wc -l <"$mdir/all.txt" | tr -d ' ') new inputs, $bytes bytes, into ${corpus#"$src"/}"
}

# run_queue ROWS: the rows one after another (one queue per -j slot).
run_queue() {
    printf '%s\n' "$1" | while read -r n s b c d m; do
        [ -n "$n" ] && run_target "$n" "$s" "$b" "$c" "$d" "$m"
    done
}

run_all() {
    rows=$(selected) || exit 2
    k=0
    while [ "$k" -lt "$jobs" ]; do
        q=$(printf '%s\n' "$rows" | awk -v k="$k" -v j="$jobs" '(NR - 1) % j == k')
        run_queue "$q" &
        k=$((k + 1))
    done
    wait
}

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
json_art() { if [ "$1" = - ]; then printf null; else json_str "$1"; fi; }
json_num() { case $1 in ''|-|*[!0-9.]*) printf null ;; *) printf '%s' "$1" ;; esac; }

# The results of every target run so far in OUT, in table order (then the unlisted ones): a table
# on stdout and OUT/results.json.
report() {
    files=$( { table | awk '{ print $1 }'; ls "$out/res" | sed 's/\.tsv$//'; } | awk '!seen[$0]++')
    {
        printf '{\n  "runs": %s, "max_total_time": %s, "timeout": %s, "rss_limit_mb": %s, "jobs": %s,\n' \
            "$runs" "$max_time" "$timeout" "$rss" "$jobs"
        printf '  "date": "%s", "build": %s,\n  "targets": [\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(json_str "$builddir")"
        sep=
        for f in $files; do
            [ -f "$out/res/$f.tsv" ] || continue
            IFS='	' read -r n r note e s eps new cov ft art san log when <"$out/res/$f.tsv"
            printf '%s    {"name": %s, "finished": %s, "result": %s, "executions": %s, "seconds": %s, "exec_per_s": %s, "new_units": %s, "cov": %s, "ft": %s, "artifact": %s, "sanitizers": %s, "note": %s, "log": %s}' \
                "$sep" "$(json_str "$n")" "$(json_str "$when")" "$(json_str "$r")" "$(json_num "$e")" "$(json_num "$s")" \
                "$(json_num "$eps")" "$(json_num "$new")" "$(json_num "$cov")" "$(json_num "$ft")" \
                "$(json_art "$art")" "$(json_str "$san")" \
                "$(json_str "$note")" "$(json_str "$log")"
            sep=',
'
        done
        printf '\n  ]\n}\n'
    } >"$out/results.json"
    printf '\n%-16s %10s %6s %8s %5s %6s %6s %-10s %s\n' target executions secs exec/s new cov ft sanitizers result
    status=0
    for f in $files; do
        [ -f "$out/res/$f.tsv" ] || continue
        IFS='	' read -r n r note e s eps new cov ft art san log when <"$out/res/$f.tsv"
        extra=
        [ "$art" = - ] || extra=" $art"
        case $r in clean) ;; not-built|unlisted) extra=" ($note)"; status=1 ;; *) status=1 ;; esac
        printf '%-16s %10s %6s %8s %5s %6s %6s %-10s %s\n' "$n" "$e" "$s" "$eps" "$new" "$cov" "$ft" "$san" "$r$extra"
    done
    echo "results: $out/results.json"
    return $status
}

main() {
    parse_args "$@"
    builddir=${builddir:-$src/build/fuzz}
    prepare_build
    out=${out:-$builddir/fuzz-long}
    mkdir -p "$out" || die "cannot create $out"
    out=$(cd "$out" && pwd)
    if [ "$fuzz" = 1 ]; then
        # a run replaces the rows of its targets; rows of other targets from earlier runs in
        # the same --out stay (a re-run of one target after a fix updates the whole table)
        for n in $(selected | awk '{ print $1 }'); do rm -f "$out/res/$n.tsv"; done
        grep -l '	unlisted	' "$out"/res/*.tsv 2>/dev/null | while read -r f; do rm -f "$f"; done
        check_unlisted
        run_all
    fi
    if [ "$merge" = 1 ]; then
        selected | while read -r n s b c d m; do merge_target "$n" "$s" "$b" "$c" "$d" "$m"; done
    fi
    report
}

main "$@"
