import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paksatalker_site.settings")
application = get_wsgi_application()

from paksatalker_site.warmup import app_warm  # noqa: E402

app_warm()
