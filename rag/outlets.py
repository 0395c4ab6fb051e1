"""Display names of the public corpora's outlet codes.

Example:
    >>> outlet_name("BBC"), outlet_name("وكالة سبوتنيك")
    ('BBC Arabic', 'وكالة سبوتنيك')
"""

OUTLETS = {
    "alarabia": "Al Arabiya", "bbc": "BBC Arabic", "cnn": "CNN Arabic", "france24": "France 24 Arabic",
    "skynews": "Sky News Arabia", "aawsat": "Asharq Al-Awsat",
}


def outlet_name(source: str) -> str:
    """Display name of an outlet code; unknown sources are shown as they are."""
    return OUTLETS.get(source.lower(), source)
