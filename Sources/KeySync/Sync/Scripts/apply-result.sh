# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce and nl come from ApplyScript.render and lookup.sh (the rendered script is checked whole)
# apply-result.sh: `result NAME KIND [TEXT]`, one reply line of the apply
# script with the nonce, whatever TEXT holds (ApplyScript.resultFunction).
result() {
    case ${3:-} in
        *"$nl"*) printf 'result %s %s %s %s\n' "$nonce" "$1" "$2" "$(printf '%s' "$3" | tr '\n' ' ')" ;;
        *) printf 'result %s %s %s %s\n' "$nonce" "$1" "$2" "${3:-}" ;;
    esac
}
