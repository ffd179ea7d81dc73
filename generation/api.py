"""Generation endpoints: thin; validation and work live in services and selectors."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import File, Form, Router
from ninja.files import UploadedFile

from generation import selectors, services
from generation.capabilities import capabilities_get
from generation.downloads import download_response
from generation.fields import FIELD_HELP
from generation.schemas import CapabilitiesOut, ErrorOut, FusionIn, PromptIn, StatusOut, TaskAcceptedOut

router = Router(tags=["generation"])

ERRORS = {400: ErrorOut, 404: ErrorOut, 413: ErrorOut, 415: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut}


@router.get("/capabilities", response={200: CapabilitiesOut}, url_name="capabilities")
def capabilities(request: HttpRequest):
    return {"success": True, "data": capabilities_get()}


@router.post("/generate/fusion-video", response={200: TaskAcceptedOut, **ERRORS}, url_name="generate_fusion_video")
def generate_fusion_video(
    request: HttpRequest,
    form: Form[FusionIn],
    image: UploadedFile = File(None, description=FIELD_HELP["image"]),
    audio: UploadedFile = File(None, description=FIELD_HELP["audio"]),
    backgroundImage: UploadedFile = File(None, description=FIELD_HELP["backgroundImage"]),
):
    job = services.job_submit(form=form, image=image, audio=audio, background_image=backgroundImage,
                              idempotency_key=request.headers.get("Idempotency-Key"), sent_fields=[*request.POST, *request.FILES])
    return selectors.job_accepted_data(job)


@router.post("/generate/video-from-prompt", response={200: TaskAcceptedOut, **ERRORS}, url_name="generate_video_from_prompt")
def generate_video_from_prompt(
    request: HttpRequest,
    form: Form[PromptIn],
    image: UploadedFile = File(None, description=FIELD_HELP["image"]),
    backgroundImage: UploadedFile = File(None, description=FIELD_HELP["backgroundImage"]),
):
    job = services.job_submit(form=form, image=image, background_image=backgroundImage,
                              idempotency_key=request.headers.get("Idempotency-Key"), sent_fields=[*request.POST, *request.FILES])
    return selectors.job_accepted_data(job)


@router.get("/status/{task_id}", response={200: StatusOut, 404: ErrorOut}, url_name="task_status")
def task_status(request: HttpRequest, task_id: str):
    job = selectors.job_get(job_id=task_id)
    return {"success": True, "data": selectors.job_status_data(job)}


@router.post("/status/{task_id}/cancel", response={200: StatusOut, 400: ErrorOut, 404: ErrorOut}, url_name="task_cancel")
def task_cancel(request: HttpRequest, task_id: str):
    job = services.job_cancel(job_id=str(selectors.job_get(job_id=task_id).id))
    return {"success": True, "data": selectors.job_status_data(job)}


@router.delete("/status/{task_id}", response={200: StatusOut, 400: ErrorOut, 404: ErrorOut}, url_name="task_cancel_delete")
def task_cancel_delete(request: HttpRequest, task_id: str):
    return task_cancel(request, task_id)


@router.api_operation(["GET", "HEAD"], "/download/{filename}", url_name="download",
                      response={302: None, 404: ErrorOut, 416: ErrorOut})
def download(request: HttpRequest, filename: str):
    """The file itself (200/206), or on S3 storage a 302 to a short-lived presigned URL for the video."""
    field = selectors.job_download_file(filename=filename)
    return download_response(field, filename=filename, range_header=request.headers.get("Range"), head=request.method == "HEAD")


@router.get("/status/{task_id}/events", response={404: ErrorOut, 503: ErrorOut}, url_name="task_events")
def task_events(request: HttpRequest, task_id: str):
    """Server-Sent Events: {status, progress, stage, eta_seconds} until the job ends."""
    from generation.events import job_event_stream

    job = selectors.job_get(job_id=task_id)
    return job_event_stream(job_id=str(job.id))
