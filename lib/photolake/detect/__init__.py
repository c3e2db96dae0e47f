"""detect: object detection (YOLOv3 through OpenCV DNN, YOLOX-nano from ONNX) on the executors."""
