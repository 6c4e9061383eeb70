# bash completion for mail-deliver and mail-deliver-local                          -*- shell-script -*-
_mail_deliver() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-f | --from) return ;;
	esac
	COMPREPLY=($(compgen -W "-f --from --status --config --help $(mail-admin mailbox list 2>/dev/null) $(mail-admin alias list 2>/dev/null | cut -f1) $(mail-admin group list 2>/dev/null | cut -f1)" -- "$cur"))
}
complete -F _mail_deliver mail-deliver mail-deliver-local
