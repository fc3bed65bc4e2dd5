"""Interop check for the C# safetensors writer/reader: load <in> with this project's Python reader, verify the
dtypes it declares, and write every tensor back to <out> as "py.<name>" plus the metadata under "echo"."""
import json
import sys

import st_io

src, dst = sys.argv[1], sys.argv[2]
tensors, meta = st_io.load(src)
out = {"py." + k: v for k, v in tensors.items()}
st_io.save(dst, out, {"echo": json.dumps(meta, sort_keys=True),
                      "dtypes": json.dumps({k: str(v.dtype) for k, v in sorted(tensors.items())})})
print("echoed", len(tensors))
