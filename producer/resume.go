package producer

import "fmt"

// Replays are resumed by data row, 1-based and after any header, in every
// command (run, produce): --start-row N begins at the Nth data row, and a
// replay's next start row is the first row it did not finish. Rows, not
// file lines, because a quoted text may span lines.

// SkipRows converts a 1-based start row to the number of data rows the
// reader skips.
func SkipRows(startRow int) (int, error) {
	if startRow < 1 {
		return 0, fmt.Errorf("--start-row %d: data rows are numbered from 1", startRow)
	}
	return startRow - 1, nil
}

// NextStartRow is the start row that resumes after a replay that began at
// startRow and ended with st: every row before it was read and then sent or
// rejected. It holds when Run returned nil or its context's error (Run sends
// what it read before it returns), not after a failed send.
func NextStartRow(startRow int, st Stats) int {
	return startRow + int(st.RowsRead)
}
