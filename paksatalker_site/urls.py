from django.contrib import admin
from django.urls import path

from paksatalker_site.api import api
from paksatalker_site.views import not_found, server_error, studio

urlpatterns = [
    path("", studio, name="studio"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler404 = not_found
handler500 = server_error
