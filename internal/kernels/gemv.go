package kernels

// gemvRows computes C[i,:] = alpha·op(A)[i,:]·op(B) + beta·C[i,:] for the
// m ≤ 3 rows of a matrix–vector-like product (decoding one token) with the
// vector kernels: dot products with the rows of B when B is transposed,
// scaled row sums of B otherwise. The n columns are split among threads;
// each element is summed in a fixed order.
func gemvRows(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	x := make([]float32, k)
	y := make([]float32, n)
	for i := range m {
		if transA {
			for p := range k {
				x[p] = a[p*lda+i]
			}
		} else {
			copy(x, a[i*lda:i*lda+k])
		}
		chunks := 1
		if work := n * k; threads > 1 && work >= 1<<16 {
			chunks = min(threads, (n+63)/64)
		}
		step := ((n+chunks-1)/chunks + 3) &^ 3
		run := func(ch int) {
			j0, j1 := ch*step, min(n, (ch+1)*step)
			if j0 >= j1 {
				return
			}
			yy := y[j0:j1]
			if transB {
				dotRowsAVX512(&yy[0], &x[0], &b[j0*ldb], ldb, j1-j0, k)
				return
			}
			clear(yy)
			for p, xp := range x {
				Axpy(yy, b[p*ldb+j0:p*ldb+j1], xp)
			}
		}
		if chunks == 1 {
			run(0)
		} else {
			parallelN(chunks, run)
		}
		row := c[i*ldc : i*ldc+n]
		for j, v := range y {
			if beta == 0 {
				row[j] = alpha * v
			} else {
				row[j] = alpha*v + beta*row[j]
			}
		}
	}
}

// parallelN runs f(0…n−1), one goroutine each (the last on the caller).
func parallelN(n int, f func(int)) {
	done := make(chan struct{}, n-1)
	for i := range n - 1 {
		go func() { f(i); done <- struct{}{} }()
	}
	f(n - 1)
	for range n - 1 {
		<-done
	}
}
