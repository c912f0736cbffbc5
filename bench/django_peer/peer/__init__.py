"""The Django peer of the bench: stock admin, DRF + simplejwt, the stock ``auth_user``."""
