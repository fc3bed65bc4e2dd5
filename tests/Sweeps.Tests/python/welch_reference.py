# Reference for StatisticsTests.Welch_matches_an_independent_reference: Welch t and df by their formulas,
# the two-sided p-value by Simpson integration of the Student t density (not by the incomplete beta function).
import math
a=[0.912,0.905,0.921,0.899,0.917]
b=[0.871,0.889,0.880,0.902,0.866,0.875]
def mv(x):
    m=sum(x)/len(x); v=sum((y-m)**2 for y in x)/(len(x)-1); return m,v
ma,va=mv(a); mb,vb=mv(b)
se2=va/len(a)+vb/len(b); t=(ma-mb)/math.sqrt(se2)
df=se2**2/((va/len(a))**2/(len(a)-1)+(vb/len(b))**2/(len(b)-1))
# p = 2*int_t^inf pdf, pdf via lgamma; substitute u = atan(x) to integrate over finite range
def pdf(x): return math.exp(math.lgamma((df+1)/2)-math.lgamma(df/2)-0.5*math.log(df*math.pi)-(df+1)/2*math.log1p(x*x/df))
N=200000; lo=math.atan(t); hi=math.pi/2; h=(hi-lo)/N
s=0
for i in range(N+1):
    u=lo+i*h; w=1 if i in(0,N) else (4 if i%2 else 2)
    x=math.tan(u); s+=w*(pdf(x)*(1+x*x) if i<N else 0)
p=2*s*h/3
print(repr(t),repr(df),repr(p))
