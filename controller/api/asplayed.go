package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"dalaba/controller/receipts"
	"dalaba/proto/wire"
)

// asPlayedHeader is the as-played log (播出记录) as staff open it in a spreadsheet.
var asPlayedHeader = []string{"广播ID", "标题", "终端", "村编码", "村", "计划时间", "开始播放", "结束播放",
	"结果", "原因代码", "原因", "详情", "播放时长(秒)", "峰值", "均方根", "音量"}

// asPlayedCSV answers the as-played log of one broadcast: one row per terminal, scheduled time
// beside actual start and stop, result and reason, and the proof of play.
func (s *Server) asPlayedCSV(w http.ResponseWriter, r *http.Request) {
	sum, err := s.Book.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="as-played-%s.csv"`, sum.ID))
	w.Write([]byte("\ufeff")) // a BOM, so spreadsheet programs read the Chinese as UTF-8
	cw := csv.NewWriter(w)
	cw.Write(asPlayedHeader)
	inv := s.Inventory()
	for _, rc := range sum.Receipts {
		row := []string{sum.ID, sum.Title, rc.Terminal, rc.Village,
			inv.Name(wire.Address{Tier: wire.TierVillage, Code: rc.Village}), stamp(sum.CreatedAt), "", "",
			result(rc), string(rc.Reason), rc.Reason.Chinese(), rc.Detail, "", "", "", ""}
		if p := rc.Played; p != nil {
			row[6], row[7] = stamp(p.Start), stamp(p.End)
			row[12] = strconv.FormatFloat(float64(p.Duration)/1000, 'f', 3, 64)
			row[13] = strconv.FormatFloat(p.Peak, 'f', 4, 64)
			row[14] = strconv.FormatFloat(p.RMS, 'f', 4, 64)
			row[15] = strconv.Itoa(int(p.Volume))
		}
		cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.Log.Warn("as-played export", "broadcast", sum.ID, "err", err)
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(time.Local).Format("2006-01-02 15:04:05.000")
}

func result(rc receipts.Receipt) string {
	switch {
	case rc.State == receipts.Done:
		return "已播放"
	case rc.State == receipts.Offline:
		return "离线"
	case rc.State == receipts.Failed && rc.Reason.Unheard():
		return "未能发声"
	case rc.State == receipts.Failed:
		return "未播放"
	}
	return "进行中"
}
