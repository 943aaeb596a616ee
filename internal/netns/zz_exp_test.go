package netns
import ("context";"sync";"testing";"sync/atomic";"os")
func TestExpSlow(t *testing.T){
	tg := startTarget(t, false)
	h,_:=Open(tg.pid,0)
	var fails atomic.Int32
	mod := 3
	if os.Getenv("NOREF")=="1" { mod = 1000000 }
	for round:=0;round<5;round++{
	var wg sync.WaitGroup; sem:=make(chan struct{},16)
	for i:=0;i<300;i++{wg.Add(1);sem<-struct{}{};go func(){defer wg.Done();defer func(){<-sem}()
		if i%mod==1 { c,err:=h.Dial(context.Background(),"tcp","127.0.0.1:1"); if err==nil{c.Close()}; return}
		c,err:=Dial(context.Background(),tg.pid,"tcp",addr(tg.echoPort));if err!=nil{t.Log(err);fails.Add(1);return};c.Close()}()}
	wg.Wait()}
	t.Log("fails",fails.Load())
}
