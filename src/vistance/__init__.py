"""vistance: policy theme and tone classification for Vietnamese diplomatic news."""

__version__ = "0.1.0"
