"""Constraints shared by request fields.

Text that the store keeps as SQL text may not contain NUL characters: PostgreSQL
refuses them, so both dialects refuse them at the door, with the same 422.
"""

NO_NUL = r"^[^\x00]*$"
