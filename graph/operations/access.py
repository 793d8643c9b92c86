"""Who may use a front end: operator accounts, their passwords and tokens, and whether an
address may be served without them. The policy lives in ``graph/core/accounts.py`` (the
settings hold the accounts); front ends take it from here."""

from graph.core.accounts import (Account, Role, account_for_token, exposure_problem, hash_password, is_loopback,
                                 new_token, token_digest, verify)

__all__ = ["Account", "Role", "account_for_token", "exposure_problem", "hash_password", "is_loopback", "new_token",
           "token_digest", "verify"]
