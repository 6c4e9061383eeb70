# bash completion for mail-verify                             -*- shell-script -*-
_mail_verify() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--ip | --helo | --mail-from | --dns | --authserv-id) return ;;
	esac
	COMPREPLY=($(compgen -W "--ip --helo --mail-from --dns --authserv-id --json --config --help" -- "$cur"))
}
complete -F _mail_verify mail-verify
