# bash completion for mail-imapd                              -*- shell-script -*-
_mail_imapd() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--tls) COMPREPLY=($(compgen -W "starttls implicit none" -- "$cur")); return ;;
	--listen) return ;;
	esac
	COMPREPLY=($(compgen -W "--config --tls --listen --help" -- "$cur"))
}
complete -F _mail_imapd mail-imapd
