"""The anchor for bench_serve: what a user writes instead of mlpipe serve.

FastAPI + uvicorn + PyTorch, serving the same 784-128-10 MLP with the same
REST shape (TF Serving's :predict), the per-pixel z-score done in the
handler.  The weights are random: the work per request does not depend on
them.

    /usr/bin/python3 bench/fastapi_serve.py PORT
"""
import sys

import torch
import uvicorn
from fastapi import FastAPI, Request

torch.set_num_threads(1)
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
net.eval()
mean = torch.rand(784) * 100
std = torch.rand(784) * 50 + 1

app = FastAPI()


@app.post("/v1/models/fashion_mnist:predict")
async def predict(request: Request):
    body = await request.json()
    x = (torch.tensor(body["instances"], dtype=torch.float32) - mean) / std
    with torch.no_grad():
        p = torch.softmax(net(x), dim=1)
    label = p.argmax(dim=1)
    return {"predictions": [{"probabilities": row, "label": int(k)} for row, k in zip(p.tolist(), label.tolist())]}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
