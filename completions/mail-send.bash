# bash completion for mail-send                               -*- shell-script -*-
_mail_send() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--attach | --html | --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--from) COMPREPLY=($(compgen -W "$(mail-admin mailbox list 2>/dev/null | cut -f1)" -- "$cur")); return ;;
	--to | --cc | --bcc | --reply-to | --subject | --header) return ;;
	esac
	COMPREPLY=($(compgen -W "--from --to --cc --bcc --subject --attach --html --reply-to --header --print --config --help" -- "$cur"))
}
complete -F _mail_send mail-send
