"""``/v1/accounts/{account_id}/simulate``: an account's recorded history under another policy."""
