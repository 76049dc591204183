"""Small pure rules of the domain that are not checklist, sync or media rules."""
