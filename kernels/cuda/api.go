package cuda

import (
	"fmt"
	"unsafe"
)

// api is the C surface the backend uses: the CUDA runtime (cudart) and
// cuBLAS functions, in Go signatures that purego can call (load_cuda.go) and
// that the tests implement with a fake device in host memory. Every field
// mirrors its C function exactly; device pointers are uintptr, host
// pointers unsafe.Pointer, C int and enums int32. Each returns the C status
// (cudaError_t or cublasStatus_t, 0 on success).
type api struct {
	// cudaError_t cudaGetDeviceCount(int *count)
	getDeviceCount func(count *int32) int32
	// cudaError_t cudaSetDevice(int device)
	setDevice func(device int32) int32
	// cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
	deviceGetAttribute func(value *int32, attr, device int32) int32
	// cudaError_t cudaMemGetInfo(size_t *free, size_t *total)
	memGetInfo func(free, total *uintptr) int32
	// cudaError_t cudaMalloc(void **devPtr, size_t size)
	malloc func(devPtr *uintptr, size uintptr) int32
	// cudaError_t cudaFree(void *devPtr)
	free func(devPtr uintptr) int32
	// cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind),
	// registered twice so that host memory is always an unsafe.Pointer:
	// host to device (kind 1) and device to host (kind 2).
	memcpyHtoD func(dst uintptr, src unsafe.Pointer, count uintptr, kind int32) int32
	memcpyDtoH func(dst unsafe.Pointer, src uintptr, count uintptr, kind int32) int32
	// cudaError_t cudaDeviceSynchronize(void)
	synchronize func() int32
	// const char *cudaGetErrorString(cudaError_t error)
	errorString func(err int32) string
	// cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
	runtimeVersion func(version *int32) int32
	// cudaError_t cudaDriverGetVersion(int *driverVersion)
	driverVersion func(version *int32) int32

	// cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
	create func(handle *uintptr) int32
	// cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
	destroy func(handle uintptr) int32
	// cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
	setMathMode func(handle uintptr, mode int32) int32
	// cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
	blasVersion func(handle uintptr, version *int32) int32
	// cublasStatus_t cublasSgemm_v2(cublasHandle_t handle,
	//	cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
	//	const float *alpha, const float *A, int lda, const float *B, int ldb,
	//	const float *beta, float *C, int ldc)
	sgemm func(handle uintptr, transa, transb, m, n, k int32,
		alpha *float32, a uintptr, lda int32, b uintptr, ldb int32,
		beta *float32, c uintptr, ldc int32) int32
	// cublasStatus_t cublasGemmEx(cublasHandle_t handle,
	//	cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
	//	const void *alpha, const void *A, cudaDataType Atype, int lda,
	//	const void *B, cudaDataType Btype, int ldb, const void *beta,
	//	void *C, cudaDataType Ctype, int ldc,
	//	cublasComputeType_t computeType, cublasGemmAlgo_t algo)
	gemmEx func(handle uintptr, transa, transb, m, n, k int32,
		alpha *float32, a uintptr, atype, lda int32, b uintptr, btype, ldb int32,
		beta *float32, c uintptr, ctype, ldc int32, compute, algo int32) int32

	// deviceName returns the device's name, or "" (the driver API's
	// cuDeviceGetName, optional).
	deviceName func(device int) string
}

// Constants of the CUDA runtime and cuBLAS headers (driver_types.h,
// library_types.h, cublas_api.h).
const (
	cudaSuccess               = 0
	cudaErrorMemoryAllocation = 2
	cudaErrorNoDevice         = 100

	cudaMemcpyHostToDevice = 1
	cudaMemcpyDeviceToHost = 2

	cudaDevAttrMultiProcessorCount    = 16
	cudaDevAttrComputeCapabilityMajor = 75
	cudaDevAttrComputeCapabilityMinor = 76

	cublasStatusSuccess = 0
	cublasOpN           = 0
	cublasOpT           = 1
	cublasDefaultMath   = 0 // no TF32 for float32 products

	cudaR32F  = 0
	cudaR16F  = 2
	cudaR16BF = 14

	cublasCompute32F  = 68
	cublasGemmDefault = -1
)

// cudaError describes a CUDA runtime status with the runtime's own text.
func (a *api) cudaError(call string, status int32) error {
	msg := ""
	if a.errorString != nil {
		msg = a.errorString(status)
	}
	if msg == "" {
		msg = "unknown error"
	}
	return fmt.Errorf("%s: %s (cudaError %d)", call, msg, status)
}

// cublasStatusNames are the cublasStatus_t values (cublas_api.h).
var cublasStatusNames = map[int32]string{
	1:  "CUBLAS_STATUS_NOT_INITIALIZED",
	3:  "CUBLAS_STATUS_ALLOC_FAILED",
	7:  "CUBLAS_STATUS_INVALID_VALUE",
	8:  "CUBLAS_STATUS_ARCH_MISMATCH",
	11: "CUBLAS_STATUS_MAPPING_ERROR",
	13: "CUBLAS_STATUS_EXECUTION_FAILED",
	14: "CUBLAS_STATUS_INTERNAL_ERROR",
	15: "CUBLAS_STATUS_NOT_SUPPORTED",
	16: "CUBLAS_STATUS_LICENSE_ERROR",
}

func cublasError(call string, status int32) error {
	name, ok := cublasStatusNames[status]
	if !ok {
		name = "unknown status"
	}
	return fmt.Errorf("%s: %s (%d)", call, name, status)
}
