# bash completion for mail-fetch                             -*- shell-script -*-
_mail_fetch() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--account) COMPREPLY=($(compgen -W "$(mail-admin fetch list 2>/dev/null | cut -f1)" -- "$cur")); return ;;
	esac
	COMPREPLY=($(compgen -W "--once --daemon --account --config --help $(mail-admin fetch list 2>/dev/null | cut -f2 | sort -u)" -- "$cur"))
}
complete -F _mail_fetch mail-fetch
