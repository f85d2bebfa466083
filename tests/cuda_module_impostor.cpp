// A CUDA module built for another version of ngvi (tests/cuda_module_test.py): its entry point reports
// what it was built for and refuses the library, as the real one does when the two disagree.
extern "C" __attribute__((visibility("default"))) const void* ngvi_cuda_module(int, const char*, const void*,
                                                                               const char** built_for) {
  *built_for = "ngvi 0.0.0, module ABI 0";
  return nullptr;
}
