# bash completion for mail-smtpd                              -*- shell-script -*-
_mail_smtpd() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--role) COMPREPLY=($(compgen -W "mx submission" -- "$cur")); return ;;
	--tls) COMPREPLY=($(compgen -W "starttls implicit none" -- "$cur")); return ;;
	--listen) return ;;
	esac
	COMPREPLY=($(compgen -W "--config --role --tls --listen --help" -- "$cur"))
}
complete -F _mail_smtpd mail-smtpd
