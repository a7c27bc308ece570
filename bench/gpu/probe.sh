# What the lent GPU machine offers tfjs-node-gpu 4.22 (run there by the device tool: bash bench/gpu/probe.sh).
# tfjs-node-gpu needs node + npm registry access at install, and libtensorflow 2.9.1 (GPU), which links
# against CUDA 11.2 (libcudart.so.11.0, libcublas.so.11) and cuDNN 8.1 (libcudnn.so.8), downloaded from
# storage.googleapis.com by its install script.
set +e
echo "## node"; which node nodejs; node --version 2>&1
echo "## gpu"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
echo "## cuda runtime libs seen by the loader"; ldconfig -p | grep -E 'libcudart\.so|libcudnn\.so|libcublas\.so' | head
echo "## cuda 11 / cudnn 8 anywhere (what libtensorflow 2.9.1 GPU links against)"; find / \( -name 'libcudart.so.11*' -o -name 'libcudnn.so.8*' -o -name 'libcublas.so.11*' \) -not -path '/proc/*' 2>/dev/null | head
echo "## cuda libs present"; find / \( -name 'libcudart.so*' -o -name 'libcudnn.so*' \) -not -path '/proc/*' 2>/dev/null | head
echo "## libtensorflow"; find / -name 'libtensorflow*.so*' -not -path '/proc/*' 2>/dev/null | head
echo "## reach the libtensorflow CDN"; timeout 10 curl -sS -o /dev/null -w '%{http_code}\n' https://storage.googleapis.com/tf-builds/libtensorflow_r2_9_linux_x86_64.tar.gz || echo "CDN unreachable"
echo "## reach npm registry"; timeout 10 curl -sS -o /dev/null -w '%{http_code}\n' https://registry.npmjs.org/@tensorflow%2ftfjs-node-gpu || echo "npm registry unreachable"
