"""Who may change a run: its owner or an admin. Everyone may watch and clone.

Runs from before owners existed have owner "": anyone may change them while login is off,
only admins once it is on.
"""

from __future__ import annotations

from core.access.config import AuthConfig, load_config, os_user

ACTIONS = ("stop", "resume", "rename, tag or note", "delete")


class RunPermissionError(PermissionError):
    """The current user may not change this run; the message says who may."""

    def __init__(self, user: str, run_id: str, action: str, owner: str, config: AuthConfig):
        self.user, self.run_id, self.action, self.owner = user, run_id, action, owner
        who = user or "someone who is not logged in"
        super().__init__(f"{who} may not {action} run {run_id}. {who_may(owner, config)}")


def may_change(owner: str, user: str, config: AuthConfig) -> bool:
    """True if `user` may stop, resume, rename, tag, note or delete a run owned by `owner`."""
    if config.is_admin(user):
        return True
    if not owner:
        return not config.enabled
    return bool(user) and user == owner


def who_may(owner: str, config: AuthConfig) -> str:
    """One sentence for messages and tooltips: who may change a run of this owner."""
    admins = ", ".join(sorted(config.admins)) or "none configured"
    if not owner:
        if not config.enabled:
            return "This run has no owner (it is older than owners), so anyone may change it."
        return (
            f"This run has no owner (it is older than login): only an admin ({admins}) "
            "may change it."
        )
    return f"Only its owner {owner} or an admin ({admins}) may change this run."


def authorize(
    run_id: str, owner: str, action: str, user: str | None = None, config: AuthConfig | None = None
) -> None:
    """RunPermissionError unless `user` (None: the OS user, as on the CLI) may do `action`."""
    config = load_config() if config is None else config
    user = os_user() if user is None else user
    if not may_change(owner, user, config):
        raise RunPermissionError(user, run_id, action, owner, config)
