/**
 * Shell functions the backup run and the vault's maintenance share (POSIX sh, BusyBox in the restic image), so a
 * cause has one name whichever pod met it: the reasons of run-result.ts (WrongPassword, VaultLocked, VaultFull...).
 */

export const JSON_TEXT_SH = String.raw`# A JSON string (quoted) of $1: first line only, at most 300 characters.
json_text() {
  printf '%s\n' "$1" | awk 'NR == 1 {
    s = substr($0, 1, 300); gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/[[:cntrl:]]/, " ", s)
    printf "\"%s\"", s }'
}`;

/** classify COMPLAINT: the reason for restic's exit code ($rc) and the first line of its complaint. */
export const CLASSIFY_SH = String.raw`# Reason for restic's exit code and complaint:
# each cause a person can act on has its own.
classify() {
  case $rc in
    10) echo VaultNotInitialized; return ;;
    11) echo VaultLocked; return ;;
    12) echo WrongPassword; return ;;
    130) echo Interrupted; return ;;
  esac
  printf '%s\n' "$1" | awk '{ t = tolower($0) }
    t ~ /no space left|quota ?exceeded|disk quota/ { print "VaultFull"; exit }
    t ~ /read-only file system|permission denied|access ?denied|forbidden/ { print "VaultReadOnly"; exit }
    t ~ /connection refused|no such host|i\/o timeout|network is unreachable/ { print "VaultUnreachable"; exit }
    t ~ /dial tcp|connection reset|deadline exceeded|tls:|x509:/ { print "VaultUnreachable"; exit }
    t ~ /do not exist|no such file or directory/ { print "SourceMissing"; exit }
    { print "ResticFailed"; exit }
    END { if (NR == 0) print "ResticFailed" }'
}`;
