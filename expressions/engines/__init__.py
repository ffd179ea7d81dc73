"""Expression engines: MediaPipe (face-mesh geometry or the FaceLandmarker task),
mini-Xception emotions, 3DDFA_V2 and OpenSeeFace (user-supplied ONNX)."""
