"""Ids handed out as Zendesk hands them out: increasing numbers, and ULID-like strings for custom object records.

It also remembers what was created (users by email, users and organizations by external id, custom
object records by external id or name), so a later call by the same key finds the same id, as on Zendesk.
"""

from __future__ import annotations

FIRST_TICKET_ID = 1000
FIRST_USER_ID = 360_000_001_000
FIRST_MEMBERSHIP_ID = 480_000_001_000
#: Custom object record ids are 26 characters of Crockford's base 32 (ULIDs), e.g. this one, the first handed out.
FIRST_RECORD_ID = "01GDXYD7ZTWYP542BA8MDDTE36"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _crockford(value: int) -> str:
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def _from_crockford(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _CROCKFORD.index(char)
    return value


class IdAllocator:
    """Ids handed out in increasing order, and the users, organizations and records already created.

    Not thread-safe on its own: the job store calls it under its lock.
    """

    def __init__(self) -> None:
        self.next_ticket_id = FIRST_TICKET_ID
        self.next_user_id = FIRST_USER_ID
        self.next_membership_id = FIRST_MEMBERSHIP_ID
        self.next_record_id = _from_crockford(FIRST_RECORD_ID)
        self.generated_users = 0
        self.generated_external_ids = 0
        self.user_ids_by_email: dict[str, int] = {}
        #: (noun, external id) -> numeric id, for users ("User") and organizations ("Organization").
        self.ids_by_external_id: dict[tuple[str, str], int] = {}
        #: (custom object key, external id or name) -> record id.
        self.records_by_external_id: dict[tuple[str, str], str] = {}
        self.records_by_name: dict[tuple[str, str], str] = {}

    def ticket_id(self) -> int:
        value = self.next_ticket_id
        self.next_ticket_id += 1
        return value

    def user_id(self) -> int:
        value = self.next_user_id
        self.next_user_id += 1
        return value

    def membership_id(self) -> int:
        value = self.next_membership_id
        self.next_membership_id += 1
        return value

    def record_id(self) -> str:
        """A custom object record id: 26 upper-case letters and digits, each one greater than the last."""
        value = self.next_record_id
        self.next_record_id += 1
        return _crockford(value)

    def by_external_id(self, noun: str, external_id: str) -> int:
        """The numeric id of the user or organization with this external id (one that existed before, if new)."""
        key = (noun, external_id)
        known = self.ids_by_external_id.get(key)
        if known is None:
            known = self.ids_by_external_id[key] = self.user_id()
        return known

    def external_id(self, noun: str) -> str:
        self.generated_external_ids += 1
        return f"generated-{noun}-{self.generated_external_ids}"
