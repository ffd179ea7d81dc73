from __future__ import annotations

from ninja import File, Form, Router
from ninja.files import UploadedFile

from expressions.schemas import CapabilitiesOut, ErrorOut, EstimateOut
from expressions.selectors import expression_capabilities
from expressions.services import expression_estimate, image_decode

router = Router(tags=["expressions"])


@router.get("/expressions/capabilities", response=CapabilitiesOut, url_name="expression_capabilities")
def expression_capabilities_view(request):
    caps = expression_capabilities()
    data = {name: info["available"] for name, info in caps.items()}
    return {"success": True, "data": {**data, "reasons": {n: i["reason"] for n, i in caps.items()}, "details": caps}}


@router.post("/expressions/estimate", response={200: EstimateOut, 400: ErrorOut, 413: ErrorOut, 415: ErrorOut, 422: ErrorOut}, url_name="expression_estimate")
def expression_estimate_view(request, image: File[UploadedFile], engine: Form[str] = "auto"):
    result = expression_estimate(image_bgr=image_decode(image.read()), engine=engine)
    return {"success": True, **result}
