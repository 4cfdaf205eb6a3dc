import './base.css';
import './featurestore.css';
