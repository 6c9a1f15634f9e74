"""Date and time styles, one per language (settings.FORMAT_MODULE_PATH).

Django's own names (DATE_FORMAT, TIME_FORMAT, ...) set the admin's and templates' style; the
*_DAY_* names are this project's (presentation/dates.py): a day with its weekday, with and
without the year.
"""
