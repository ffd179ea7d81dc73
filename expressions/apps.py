from django.apps import AppConfig


class ExpressionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "expressions"
    verbose_name = "Expression estimation"
