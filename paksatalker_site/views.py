from django.shortcuts import render

from paksatalker_site.responses import error_response


def studio(request):
    return render(request, "studio.html")


def not_found(request, exception=None):
    return error_response(404, f"Nothing is at {request.path}.")


def server_error(request):
    return error_response(500)
