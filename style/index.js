import './base.css';
import './featurestore.css';
import './experiments.css';
import './serving.css';
