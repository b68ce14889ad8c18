module github.com/loomml/loom

go 1.26
