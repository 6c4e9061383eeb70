#compdef mail-queue
_mail_queue_ids() {
	local -a ids
	ids=(${(f)"$(mail-queue list --json 2>/dev/null | grep -o '"id":"[^"]*"' | cut -d'"' -f4)"})
	_describe 'queue id' ids
}
_arguments \
	'--config[configuration file]:file:_files' \
	'--json[JSON output]' \
	'1:command:(list show flush delete run)' \
	'*::arg:->args'
case $words[1] in
show | flush | delete) _mail_queue_ids ;;
run) _arguments '--once[one pass, then exit]' ;;
list) _arguments '--json[JSON output]' ;;
esac
