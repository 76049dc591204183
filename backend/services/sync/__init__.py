"""The tablet protocol over the database: devices, push, pull and the change log."""
