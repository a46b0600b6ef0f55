module github.com/divergo/divergo/kernels/_gen/neon

go 1.26
