#!/usr/bin/env bash
# Runs one fuzz target (or all) for a while, seeded from the project's own fixtures and
# fuzz/seeds; what it finds goes to fuzz/artifacts/TARGET. Usage:
#   fuzz/run.sh TARGET|all [SECONDS]      (default 30 seconds a target, a new path each run)
#   fuzz/run.sh TARGET|all ci             (CI: every seed is run once, and a failure there, a
#                                          regression, fails; then about 30 s of search, whose
#                                          new findings are reported loudly but do not fail
#                                          the run: the search is not the same on every run,
#                                          and a gate on it would block unrelated work)
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on stable through RUSTC_BOOTSTRAP.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${2:-30}"
targets=(clean feed sitemap robots warc canonical_url config)
[ "${1:-all}" = all ] || targets=("$1")
# Runs of each target in CI mode: about 30 s each on the development machine.
ci_runs() {
  case "$1" in
    clean) echo 8000 ;;
    feed) echo 200000 ;;
    sitemap) echo 600000 ;;
    robots) echo 100000 ;;
    warc) echo 150000 ;;
    canonical_url) echo 600000 ;;
    config) echo 80000 ;;
  esac
}
seeds() {
  case "$1" in
    clean) echo ../crates/clean/tests/fixtures ../config/samples/pages ;;
    config) echo ../config ;;
    *) echo "seeds/$1" ;;
  esac
}
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log="corpus/$target.log"
  # shellcheck disable=SC2046
  if [ "$seconds" = ci ]; then
    # Regressions: every seed (the fixtures, and every input a run ever failed on) once.
    # shellcheck disable=SC2046
    if ! cargo fuzz run -O "$target" $(seeds "$target") -- -runs=0 -max_len=262144 \
      -rss_limit_mb=2048 -timeout=60 >"corpus/$target.seeds.log" 2>&1; then
      grep -E 'ERROR|panicked|SUMMARY|Test unit written' "corpus/$target.seeds.log" | sed "s/^/$target: /" || true
      echo "$target: a seed fails again: a regression (log fuzz/corpus/$target.seeds.log)"
      exit 1
    fi
    rm -rf "corpus/$target" && mkdir -p "corpus/$target"
    # The time cap is a safety net only, far above the runs' 30 s.
    limits=(-seed=20261205 -runs="$(ci_runs "$target")" -max_total_time=900)
  else
    limits=(-max_total_time="$seconds")
  fi
  # shellcheck disable=SC2046
  if ! cargo fuzz run -O "$target" "corpus/$target" $(seeds "$target") -- \
    "${limits[@]}" -max_len=262144 -rss_limit_mb=2048 -timeout=60 \
    -print_final_stats=1 >"$log" 2>&1; then
    grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$log" | sed "s/^/$target: /" || true
    if [ "$seconds" = ci ]; then
      echo "$target: NEW FUZZ FINDING, not a regression (not failing CI): mend it and put the"
      echo "$target: input from fuzz/artifacts/$target into fuzz/seeds/$target. It was:"
      for found in artifacts/"$target"/*; do
        echo "$target: $found: $(head -c 300 "$found" | od -An -c | tr -s ' \n' ' ' | head -c 600)"
      done
      continue
    fi
    echo "$target: the fuzzer found a failure (input in fuzz/artifacts/$target; log $log)"
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | sed "s/^/$target: /"
done
