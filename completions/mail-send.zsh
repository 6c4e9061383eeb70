#compdef mail-send
_arguments \
	'--config[configuration file]:file:_files' \
	'--from[sender]:address:' \
	'*--to[recipient]:address:' \
	'*--cc[copy]:address:' \
	'*--bcc[blind copy]:address:' \
	'--subject[subject]:text:' \
	'*--attach[file to attach]:file:_files' \
	'--html[HTML body]:file:_files' \
	'--reply-to[Reply-To address]:address:' \
	'*--header[extra header]:Name\: value:' \
	'--print[print instead of queueing]'
