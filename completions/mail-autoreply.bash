# bash completion for mail-autoreply                          -*- shell-script -*-
_mail_autoreply() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-f | --from) return ;;
	esac
	COMPREPLY=($(compgen -W "-f --from -n --dry-run --json --config --help $(mail-admin mailbox list 2>/dev/null | cut -f1)" -- "$cur"))
}
complete -F _mail_autoreply mail-autoreply
